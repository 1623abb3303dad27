//+------------------------------------------------------------------+
//| SignalDeskTrade.mqh: commands -> orders (CTrade), and back again |
//| Mirrors ea/client_exec.py and ea/client_follow.py: local guards, |
//| open (limit/market, magic, the server's comment), modify, cancel,|
//| close; recovery by comment after a restart; following placed     |
//| orders and positions to ack filled / cancelled / closed.         |
//| Times on the wire are UTC Unix seconds; MT5 stamps server time.  |
//+------------------------------------------------------------------+
#include <Trade\Trade.mqh>
#include "SignalDeskJson.mqh"

//--- seconds to add to UTC to get the trade server's clock (whole quarter hours)
long SdServerOffset()
  {
   return (long)MathRound((double)(TimeTradeServer()-TimeGMT())/900.0)*900;
  }

long SdUtc(const datetime server_time) { return (long)server_time-SdServerOffset(); }

int SdDigits(const string symbol) { return (int)SymbolInfoInteger(symbol,SYMBOL_DIGITS); }

//--- one ack as JSON (price/volume/time omitted as null when unknown)
string SdAck(const string id,const string status,const long ticket,const double price,
             const double volume,const long time_utc,const string error,const int digits)
  {
   return "{"+SdPairStr("command_id",id)+","+SdPairStr("status",status)+","
          +(ticket>0 ? SdPairInt("ticket",ticket) : SdPairNull("ticket"))+","
          +(price>0 ? SdPairNum("price",price,digits) : SdPairNull("price"))+","
          +(volume>0 ? SdPairNum("volume",volume,2) : SdPairNull("volume"))+","
          +(time_utc>0 ? SdPairInt("time",time_utc) : SdPairNull("time"))+","
          +(error!="" ? SdPairStr("error",StringSubstr(error,0,250)) : SdPairNull("error"))+"}";
  }

string SdRefusal(const string id,const string error)
  {
   return SdAck(id,"rejected",0,0,0,0,error,0);
  }

class CSdTrader
  {
private:
   CTrade            m_trade;
   long              m_magic;
   int               m_max_spread;
   double            m_max_lot;
   int               m_max_positions;

   int               OursOpen(void)
     {
      int count=0;
      for(int i=PositionsTotal()-1;i>=0;i--)
         if(PositionGetTicket(i)>0 && PositionGetInteger(POSITION_MAGIC)==m_magic)
            count++;
      for(int i=OrdersTotal()-1;i>=0;i--)
         if(OrderGetTicket(i)>0 && OrderGetInteger(ORDER_MAGIC)==m_magic)
            count++;
      return count;
     }

   string            TradeError(const string what)
     {
      return StringFormat("%s: retcode %u %s",what,m_trade.ResultRetcode(),
                          m_trade.ResultRetcodeDescription());
     }

public:
   void              Init(const long magic,const int max_spread,const double max_lot,
                          const int max_positions)
     {
      m_magic=magic;
      m_max_spread=max_spread;
      m_max_lot=max_lot;
      m_max_positions=max_positions;
      m_trade.SetExpertMagicNumber((ulong)magic);
      m_trade.SetDeviationInPoints(10);
     }

   //--- why the open must not be placed ("" = go)
   string            Guard(const string symbol,const double volume)
     {
      if(!SymbolSelect(symbol,true))
         return "unknown_symbol: "+symbol;
      if(volume<=0)
         return "volume missing or not positive";
      if(m_max_lot>0 && volume>m_max_lot)
         return StringFormat("guard: volume %.2f > max lot %.2f",volume,m_max_lot);
      int open=OursOpen();
      if(m_max_positions>0 && open>=m_max_positions)
         return StringFormat("guard: %d open positions/orders >= max %d",open,m_max_positions);
      long spread=SymbolInfoInteger(symbol,SYMBOL_SPREAD);
      if(m_max_spread>0 && spread>m_max_spread)
         return StringFormat("guard: spread %I64d points > max %d",spread,m_max_spread);
      return "";
     }

   //--- place the order; the ack JSON, `ticket` and `status` set on success
   string            Open(CSdJson *cmd,const string comment,long &ticket,string &status)
     {
      string id=cmd.Str("id"),symbol=cmd.Str("symbol");
      bool buy=cmd.Str("side")=="buy";
      bool market=cmd.Str("order_type")=="market";
      double volume=cmd.Num("volume"),price=cmd.Num("price");
      double sl=cmd.Num("sl"),tp=cmd.Num("tp");
      long expires=cmd.Int("expires_at");
      int digits=SdDigits(symbol);
      string reason=Guard(symbol,volume);
      if(reason!="")
        {
         status="rejected";
         return SdRefusal(id,reason);
        }
      bool ok;
      if(market)
         ok=buy ? m_trade.Buy(volume,symbol,0,sl,tp,comment)
                : m_trade.Sell(volume,symbol,0,sl,tp,comment);
      else
        {
         bool specified=expires>0
                        && (SymbolInfoInteger(symbol,SYMBOL_EXPIRATION_MODE)&SYMBOL_EXPIRATION_SPECIFIED)!=0;
         ENUM_ORDER_TYPE_TIME type_time=specified ? ORDER_TIME_SPECIFIED : ORDER_TIME_GTC;
         datetime expiration=specified ? (datetime)(expires+SdServerOffset()) : 0;
         ok=buy ? m_trade.BuyLimit(volume,price,symbol,sl,tp,type_time,expiration,comment)
                : m_trade.SellLimit(volume,price,symbol,sl,tp,type_time,expiration,comment);
        }
      uint code=m_trade.ResultRetcode();
      if(!ok || (code!=TRADE_RETCODE_DONE && code!=TRADE_RETCODE_PLACED
                 && code!=TRADE_RETCODE_DONE_PARTIAL))
        {
         status="rejected";
         return SdRefusal(id,TradeError("order_rejected"));
        }
      ticket=(long)m_trade.ResultOrder();
      status=market ? "filled" : "placed";
      double at=market && m_trade.ResultPrice()>0 ? m_trade.ResultPrice() : price;
      return SdAck(id,status,ticket,at,volume,(long)TimeGMT(),"",digits);
     }

   string            Modify(CSdJson *cmd,const long ticket,string &status)
     {
      string id=cmd.Str("id"),symbol=cmd.Str("symbol");
      int digits=SdDigits(symbol);
      double sl=cmd.Num("sl"),tp=cmd.Num("tp");
      status="rejected";
      if(ticket<=0)
         return SdRefusal(id,"modify: no ticket for this signal");
      if(OrderSelect((ulong)ticket))
        {
         double price=cmd.Num("price",OrderGetDouble(ORDER_PRICE_OPEN));
         ENUM_ORDER_TYPE_TIME type_time=(ENUM_ORDER_TYPE_TIME)OrderGetInteger(ORDER_TYPE_TIME);
         datetime expiration=(datetime)OrderGetInteger(ORDER_TIME_EXPIRATION);
         if(!m_trade.OrderModify((ulong)ticket,price,sl,tp,type_time,expiration))
            return SdRefusal(id,TradeError("modify"));
         status="placed";
         return SdAck(id,status,ticket,price,OrderGetDouble(ORDER_VOLUME_CURRENT),
                      (long)TimeGMT(),"",digits);
        }
      if(!PositionSelectByTicket((ulong)ticket))
         return SdRefusal(id,StringFormat("modify: #%I64d is not open",ticket));
      if(!m_trade.PositionModify((ulong)ticket,sl,tp))
         return SdRefusal(id,TradeError("modify"));
      status="filled";
      return SdAck(id,status,ticket,PositionGetDouble(POSITION_PRICE_OPEN),
                   PositionGetDouble(POSITION_VOLUME),(long)TimeGMT(),"",digits);
     }

   string            Cancel(const string id,const long ticket,string &status)
     {
      status="rejected";
      if(ticket<=0)
         return SdRefusal(id,"cancel: no ticket for this signal");
      if(OrderSelect((ulong)ticket) && !m_trade.OrderDelete((ulong)ticket))
         return SdRefusal(id,TradeError("cancel"));
      if(PositionSelectByTicket((ulong)ticket))
         return SdRefusal(id,StringFormat("cancel: #%I64d already filled",ticket));
      status="cancelled";
      return SdAck(id,status,ticket,0,0,(long)TimeGMT(),"",0);
     }

   string            Close(CSdJson *cmd,const long ticket,string &status)
     {
      string id=cmd.Str("id");
      status="rejected";
      if(ticket<=0)
         return SdRefusal(id,"close: no ticket for this signal");
      if(!PositionSelectByTicket((ulong)ticket))
        {
         if(OrderSelect((ulong)ticket) && !m_trade.OrderDelete((ulong)ticket))
            return SdRefusal(id,TradeError("close"));
         status="closed";
         return SdAck(id,status,ticket,0,0,(long)TimeGMT(),"not open",0);
        }
      string symbol=PositionGetString(POSITION_SYMBOL);
      double volume=cmd.Num("volume",PositionGetDouble(POSITION_VOLUME));
      bool ok=volume<PositionGetDouble(POSITION_VOLUME)
              ? m_trade.PositionClosePartial((ulong)ticket,volume)
              : m_trade.PositionClose((ulong)ticket);
      if(!ok || m_trade.ResultRetcode()!=TRADE_RETCODE_DONE)
         return SdRefusal(id,TradeError("close"));
      status="closed";
      return SdAck(id,status,ticket,m_trade.ResultPrice(),volume,(long)TimeGMT(),"",
                   SdDigits(symbol));
     }
  };

//--- "filled" (and "closed" once exits cover the entry) read from a position's deals;
//--- "" when the position has no deal in the history
string SdAcksFromDeals(const string id,const long position,string &status,long &ticket)
  {
   if(!HistorySelectByPosition(position))
      return "";
   double in_volume=0,out_volume=0,out_value=0,in_price=0;
   long in_time=0,out_time=0;
   string symbol="";
   for(int i=0;i<HistoryDealsTotal();i++)
     {
      ulong deal=HistoryDealGetTicket(i);
      long entry=HistoryDealGetInteger(deal,DEAL_ENTRY);
      double volume=HistoryDealGetDouble(deal,DEAL_VOLUME);
      double price=HistoryDealGetDouble(deal,DEAL_PRICE);
      symbol=HistoryDealGetString(deal,DEAL_SYMBOL);
      if(entry==DEAL_ENTRY_IN)
        {
         in_volume+=volume;
         in_price=price;
         in_time=SdUtc((datetime)HistoryDealGetInteger(deal,DEAL_TIME));
        }
      else if(entry==DEAL_ENTRY_OUT || entry==DEAL_ENTRY_OUT_BY)
        {
         out_volume+=volume;
         out_value+=price*volume;
         out_time=SdUtc((datetime)HistoryDealGetInteger(deal,DEAL_TIME));
        }
     }
   if(in_volume<=0)
      return "";
   int digits=SdDigits(symbol);
   ticket=position;
   status="filled";
   string acks=SdAck(id,"filled",position,in_price,in_volume,in_time,"",digits);
   if(out_volume>0 && out_volume>=in_volume-1e-8)
     {
      status="closed";
      acks+="\n"+SdAck(id,"closed",position,out_value/out_volume,out_volume,out_time,"",digits);
     }
   return acks;
  }
//+------------------------------------------------------------------+
