//+------------------------------------------------------------------+
//| SignalDeskReports.mqh: account, positions and symbol specs JSON  |
//| POST /ea/v1/account and POST /ea/v1/symbols bodies (see README). |
//| Mirrors ea/client_wire.py account_json / symbols_json: every     |
//| number written exactly (SdNumber: a volume step of 0.00001 stays |
//| 0.00001), and a symbol is reported only once its specification   |
//| is complete (right after SymbolSelect the tick value can be 0).  |
//+------------------------------------------------------------------+
#include "SignalDeskJson.mqh"

#define SD_MAX_QUOTES    200   // quotes per account report (ea/schemas.py MAX_QUOTES)
#define SD_MAX_NAME      32    // a symbol name on the wire
#define SD_MAX_BROKER    64    // the broker's name on the wire

string SdPositionJson(const ulong ticket)
  {
   string symbol=PositionGetString(POSITION_SYMBOL);
   bool buy=PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY;
   return "{"+SdPairInt("ticket",(long)ticket)+","+SdPairStr("symbol",symbol)+","
          +SdPairStr("side",buy ? "buy" : "sell")+","
          +SdPairNum("volume",PositionGetDouble(POSITION_VOLUME))+","
          +SdPairNum("open_price",PositionGetDouble(POSITION_PRICE_OPEN))+","
          +SdPairLevel("sl",PositionGetDouble(POSITION_SL))+","
          +SdPairLevel("tp",PositionGetDouble(POSITION_TP))+","
          +SdPairNum("profit",PositionGetDouble(POSITION_PROFIT))+","
          +SdPairStr("comment",PositionGetString(POSITION_COMMENT))+"}";
  }

//--- why the terminal's specification of `name` is not complete yet ("" = it is): the
//--- server sizes orders from it (trading/symbols.py SymbolSpec refuses the same values)
string SdSpecMissing(const string name)
  {
   string fields[]={"point","tick_size","tick_value","contract_size","volume_min",
                    "volume_max","volume_step"};
   double values[7];
   values[0]=SymbolInfoDouble(name,SYMBOL_POINT);
   values[1]=SymbolInfoDouble(name,SYMBOL_TRADE_TICK_SIZE);
   values[2]=SymbolInfoDouble(name,SYMBOL_TRADE_TICK_VALUE);
   values[3]=SymbolInfoDouble(name,SYMBOL_TRADE_CONTRACT_SIZE);
   values[4]=SymbolInfoDouble(name,SYMBOL_VOLUME_MIN);
   values[5]=SymbolInfoDouble(name,SYMBOL_VOLUME_MAX);
   values[6]=SymbolInfoDouble(name,SYMBOL_VOLUME_STEP);
   for(int i=0;i<7;i++)
      if(!(values[i]>0))
         return fields[i]+" is "+SdNumber(values[i]);
   if(values[4]>values[5])
      return "volume_min > volume_max";
   return "";
  }

string SdSymbolJson(const string name)
  {
   return "{"+SdPairStr("name",name)+","
          +SdPairInt("digits",SymbolInfoInteger(name,SYMBOL_DIGITS))+","
          +SdPairNum("point",SymbolInfoDouble(name,SYMBOL_POINT))+","
          +SdPairNum("tick_size",SymbolInfoDouble(name,SYMBOL_TRADE_TICK_SIZE))+","
          +SdPairNum("tick_value",SymbolInfoDouble(name,SYMBOL_TRADE_TICK_VALUE))+","
          +SdPairNum("contract_size",SymbolInfoDouble(name,SYMBOL_TRADE_CONTRACT_SIZE))+","
          +SdPairNum("volume_min",SymbolInfoDouble(name,SYMBOL_VOLUME_MIN))+","
          +SdPairNum("volume_max",SymbolInfoDouble(name,SYMBOL_VOLUME_MAX))+","
          +SdPairNum("volume_step",SymbolInfoDouble(name,SYMBOL_VOLUME_STEP))+","
          +SdPairInt("stops_level",SymbolInfoInteger(name,SYMBOL_TRADE_STOPS_LEVEL))+"}";
  }

//--- the symbols to report: the listed ones (comma separated), or Market Watch when empty
void SdWantedSymbols(const string wanted,string &names[])
  {
   ArrayResize(names,0);
   string parts[];
   if(StringLen(wanted)>0)
      StringSplit(wanted,',',parts);
   else
     {
      ArrayResize(parts,SymbolsTotal(true));
      for(int i=0;i<ArraySize(parts);i++)
         parts[i]=SymbolName(i,true);
     }
   for(int i=0;i<ArraySize(parts);i++)
     {
      string name=parts[i];
      StringTrimLeft(name);
      StringTrimRight(name);
      if(name=="")
         continue;
      int n=ArraySize(names);
      ArrayResize(names,n+1);
      names[n]=name;
     }
  }

//--- the bid/ask of the symbols the EA reports (`wanted`, as SdWantedSymbols: the listed
//--- ones or Market Watch), at most SD_MAX_QUOTES, for the server's price alerts; a symbol
//--- without a quote yet (bid 0) or with a name too long for the wire is left out
string SdQuotesJson(const string wanted)
  {
   string names[];
   SdWantedSymbols(wanted,names);
   string items="";
   int count=0;
   for(int i=0;i<ArraySize(names) && count<SD_MAX_QUOTES;i++)
     {
      string name=names[i];
      if(StringLen(name)>SD_MAX_NAME)
         continue;
      double bid=SymbolInfoDouble(name,SYMBOL_BID);
      double ask=SymbolInfoDouble(name,SYMBOL_ASK);
      if(!(bid>0) || ask<bid)
         continue;
      items+=(items=="" ? "" : ",")+"{"+SdPairStr("symbol",name)+","
             +SdPairNum("bid",bid)+","+SdPairNum("ask",ask)+"}";
      count++;
     }
   return items;
  }

//--- the account report; `wanted`: the symbols whose quotes go with it (see SdQuotesJson)
string SdAccountJson(const string wanted)
  {
   string positions="";
   for(int i=0;i<PositionsTotal();i++)
     {
      ulong ticket=PositionGetTicket(i);
      if(ticket==0)
         continue;
      positions+=(positions=="" ? "" : ",")+SdPositionJson(ticket);
     }
   string company=AccountInfoString(ACCOUNT_COMPANY);
   string quotes=SdQuotesJson(wanted);
   return "{"+SdPairNum("balance",AccountInfoDouble(ACCOUNT_BALANCE))+","
          +SdPairNum("equity",AccountInfoDouble(ACCOUNT_EQUITY))+","
          +SdPairNum("margin",AccountInfoDouble(ACCOUNT_MARGIN))+","
          +SdPairStr("currency",AccountInfoString(ACCOUNT_CURRENCY))+","
          +"\"positions\":["+positions+"]"
          +(company!="" ? ","+SdPairStr("broker",StringSubstr(company,0,SD_MAX_BROKER)) : "")
          +(quotes!="" ? ",\"quotes\":["+quotes+"]" : "")+"}";
  }

//--- the body for the complete specs among `names` ("" when none is); the incomplete ones
//--- are left in `later` (unknown symbols are dropped with a message)
string SdSymbolsJson(string &names[],string &later[])
  {
   ArrayResize(later,0);
   string items="";
   for(int i=0;i<ArraySize(names);i++)
     {
      string name=names[i];
      if(!SymbolSelect(name,true))
        {
         Print("SignalDesk: the broker does not know ",name,"; not reported");
         continue;
        }
      string missing=SdSpecMissing(name);
      if(missing!="")
        {
         Print("SignalDesk: the specification of ",name," is not loaded yet (",missing,
               "); reporting it later");
         int n=ArraySize(later);
         ArrayResize(later,n+1);
         later[n]=name;
         continue;
        }
      items+=(items=="" ? "" : ",")+SdSymbolJson(name);
     }
   return items=="" ? "" : "{\"symbols\":["+items+"]}";
  }
//+------------------------------------------------------------------+
