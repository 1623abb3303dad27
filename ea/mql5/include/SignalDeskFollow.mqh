//+------------------------------------------------------------------+
//| SignalDeskFollow.mqh: what became of our orders, from history    |
//| Mirrors ea/client_follow.py and ea/client_reconcile.py.          |
//| Deals are matched by ORDER ticket and POSITION id, never by      |
//| assuming the two are equal: on a netting account a fill merges   |
//| into the symbol's position, so its deal carries that position's  |
//| id. An order that left the active list is decided from its own   |
//| deals, then from its history ORDER_STATE (cancelled / expired /  |
//| rejected); an order gone with no deal and no final state yet is  |
//| the fill race: nothing is acked, it is looked at again. Missing  |
//| history (HistorySelect false) never counts as "nothing there".   |
//+------------------------------------------------------------------+
#include "SignalDeskState.mqh"
#include "SignalDeskTrade.mqh"

#define SD_FOUND            1
#define SD_NOTHING          0
#define SD_UNKNOWN          -1   // the history is not available yet: decide later
#define SD_UNSURE_SETTLE_S  120  // ea/client.py EAConfig.unsure_settle_s
#define SD_UNSURE_WHY       "the broker did not confirm the request and shows no order, position or deal"

struct SdFill
  {
   long              position;
   double            volume;
   double            value;        // sum of price * volume
   long              first;        // UTC
   long              last;         // UTC
   int               count;
   bool              any_in;       // false: only exits (a netting reduction)
   string            symbol;       // the deals' symbol (for the spread at a fill)
  };

bool SdTradeDeal(const ulong deal)
  {
   long type=HistoryDealGetInteger(deal,DEAL_TYPE);
   return type==DEAL_TYPE_BUY || type==DEAL_TYPE_SELL;
  }

void SdAddDeal(SdFill &f,const ulong deal)
  {
   double volume=HistoryDealGetDouble(deal,DEAL_VOLUME);
   long time=SdUtc((datetime)HistoryDealGetInteger(deal,DEAL_TIME));
   long entry=HistoryDealGetInteger(deal,DEAL_ENTRY);
   if(f.count==0)
     {
      f.position=HistoryDealGetInteger(deal,DEAL_POSITION_ID);
      f.first=time;
     }
   f.volume+=volume;
   f.value+=volume*HistoryDealGetDouble(deal,DEAL_PRICE);
   f.last=time;
   f.count++;
   if(entry==DEAL_ENTRY_IN || entry==DEAL_ENTRY_INOUT)
      f.any_in=true;
  }

double SdAverage(const SdFill &f) { return f.volume>0 ? f.value/f.volume : 0.0; }

//--- the deals `order` itself made: its entries, or on a netting account the exit it made of
//--- an opposite position (ea/client_follow.py order_deals); false: no history yet
bool SdOrderFill(const long order,const long since_utc,SdFill &f)
  {
   ZeroMemory(f);
   datetime from=since_utc>0 ? (datetime)(since_utc+SdServerOffset()-86400) : 0;
   if(order<=0 || !HistorySelect(from,TimeCurrent()+86400))
      return false;
   for(int i=0;i<HistoryDealsTotal();i++)
     {
      ulong deal=HistoryDealGetTicket(i);
      if(deal==0 || HistoryDealGetInteger(deal,DEAL_ORDER)!=order || !SdTradeDeal(deal))
         continue;
      long entry=HistoryDealGetInteger(deal,DEAL_ENTRY);
      bool opens=entry==DEAL_ENTRY_IN || entry==DEAL_ENTRY_INOUT;
      if(!opens && HistoryDealGetInteger(deal,DEAL_POSITION_ID)==order)
         continue; // a position's own exit booked under its opening ticket
      SdAddDeal(f,deal);
      if(f.symbol=="")
         f.symbol=HistoryDealGetString(deal,DEAL_SYMBOL);
     }
   return true;
  }

//--- the order whose first deal carries `comment` (0: none); false: no history yet
bool SdOrderOfComment(const string comment,long &order)
  {
   order=0;
   if(comment=="" || !HistorySelect(0,TimeCurrent()+86400))
      return comment=="";
   for(int i=0;i<HistoryDealsTotal();i++)
     {
      ulong deal=HistoryDealGetTicket(i);
      if(deal>0 && SdTradeDeal(deal) && HistoryDealGetString(deal,DEAL_COMMENT)==comment)
        {
         order=HistoryDealGetInteger(deal,DEAL_ORDER);
         return true;
        }
     }
   return true;
  }

//--- the exits of `position`; `closed` once they cover its entries. `exits` holds the exits
//--- at or after `after` (all of them when none is). False: no history yet
bool SdPositionExit(const long position,const long after,SdFill &exits,bool &closed)
  {
   ZeroMemory(exits);
   closed=false;
   if(position<=0 || !HistorySelectByPosition(position))
      return false;
   SdFill all;
   ZeroMemory(all);
   double in_volume=0;
   for(int i=0;i<HistoryDealsTotal();i++)
     {
      ulong deal=HistoryDealGetTicket(i);
      if(deal==0 || !SdTradeDeal(deal))
         continue;
      long entry=HistoryDealGetInteger(deal,DEAL_ENTRY);
      if(entry==DEAL_ENTRY_IN)
         in_volume+=HistoryDealGetDouble(deal,DEAL_VOLUME);
      else if(entry==DEAL_ENTRY_OUT || entry==DEAL_ENTRY_OUT_BY)
        {
         SdAddDeal(all,deal);
         if(SdUtc((datetime)HistoryDealGetInteger(deal,DEAL_TIME))>=after)
            SdAddDeal(exits,deal);
        }
     }
   if(all.count==0 || (in_volume>0 && all.volume<in_volume-1e-9))
      return true;
   if(exits.count==0)
      exits=all;
   exits.last=all.last;
   closed=true;
   return true;
  }

//--- a history order's ORDER_STATE, -1 while the history does not show it
long SdHistoryState(const long order)
  {
   if(order<=0 || !HistoryOrderSelect((ulong)order))
      return -1;
   return HistoryOrderGetInteger((ulong)order,ORDER_STATE);
  }

class CSdFollower
  {
private:
   CSdState         *m_state;

   void              Record(const string id,const string status,const long ticket,
                            const double price,const double volume,const long time,
                            const string error,const long spread_points=-1)
     {
      m_state.Record(id,status,ticket,status==SD_ACK_FILLED ? volume : 0.0,time,
                     SdAck(id,status,ticket,price,volume,time,error,spread_points));
     }

   //--- "filled" from an order's own deals (ticket: the position they went into), and
   //--- "closed" when that position is closed already (ea/client_follow.py fill_acks)
   void              RecordFill(const string id,const SdFill &f)
     {
      double price=SdAverage(f);
      Record(id,SD_ACK_FILLED,f.position,price,f.volume,f.first,"",SdSpread(f.symbol));
      if(!f.any_in)
        {
         Record(id,SD_ACK_CLOSED,f.position,price,f.volume,f.last,
                StringFormat("netting: the fill reduced the opposite position #%I64d",f.position));
         return;
        }
      SdFill exits;
      bool closed=false;
      if(SdPositionExit(f.position,f.first,exits,closed) && closed)
         Record(id,SD_ACK_CLOSED,f.position,SdAverage(exits),MathMin(exits.volume,f.volume),
                exits.last,"");
     }

   //--- "filled" from the position itself (its deal may lag behind it)
   void              RecordPosition(const string id)
     {
      Record(id,SD_ACK_FILLED,PositionGetInteger(POSITION_IDENTIFIER),
             PositionGetDouble(POSITION_PRICE_OPEN),PositionGetDouble(POSITION_VOLUME),
             SdUtc((datetime)PositionGetInteger(POSITION_TIME)),"",
             SdSpread(PositionGetString(POSITION_SYMBOL)));
     }

   bool              SelectPositionByComment(const string comment)
     {
      if(comment=="")
         return false;
      for(int i=PositionsTotal()-1;i>=0;i--)
         if(PositionGetTicket(i)>0 && PositionGetString(POSITION_COMMENT)==comment)
            return true;
      return false;
     }

   int               RecoverOpen(const SdEntry &e)
     {
      for(int i=OrdersTotal()-1;i>=0;i--)
        {
         ulong t=OrderGetTicket(i);
         if(t==0)
            continue;
         bool mine=(e.comment!="" && OrderGetString(ORDER_COMMENT)==e.comment)
                   || (long)t==e.ticket;
         if(!mine)
            continue;
         Record(e.id,SD_ACK_PLACED,(long)t,OrderGetDouble(ORDER_PRICE_OPEN),
                OrderGetDouble(ORDER_VOLUME_CURRENT),
                SdUtc((datetime)OrderGetInteger(ORDER_TIME_SETUP)),"");
         return SD_FOUND;
        }
      long order=e.ticket;
      if(order<=0 && !SdOrderOfComment(e.comment,order))
         return SD_UNKNOWN;
      if(order>0)
        {
         SdFill f;
         if(!SdOrderFill(order,0,f))
            return SD_UNKNOWN;
         if(f.count>0)
           {
            RecordFill(e.id,f);
            return SD_FOUND;
           }
        }
      if(SelectPositionByComment(e.comment))
        {
         RecordPosition(e.id);
         return SD_FOUND;
        }
      return SD_NOTHING;
     }

   //--- a close whose result was lost: its exit deal (by comment), or the position gone
   int               RecoverClose(const SdEntry &e)
     {
      if(e.ticket<=0)
         return SD_NOTHING;
      if(!HistorySelectByPosition(e.ticket))
         return SD_UNKNOWN;
      SdFill mine;
      ZeroMemory(mine);
      for(int i=0;i<HistoryDealsTotal();i++)
        {
         ulong deal=HistoryDealGetTicket(i);
         long entry=deal>0 ? HistoryDealGetInteger(deal,DEAL_ENTRY) : -1;
         if((entry==DEAL_ENTRY_OUT || entry==DEAL_ENTRY_OUT_BY) && e.comment!=""
            && HistoryDealGetString(deal,DEAL_COMMENT)==e.comment)
            SdAddDeal(mine,deal);
        }
      if(mine.count>0)
        {
         Record(e.id,SD_ACK_CLOSED,e.ticket,SdAverage(mine),mine.volume,mine.last,"");
         return SD_FOUND;
        }
      if(SdSelectPosition(e.ticket))
         return SD_NOTHING;
      SdFill exits;
      bool closed=false;
      if(!SdPositionExit(e.ticket,0,exits,closed))
         return SD_UNKNOWN;
      if(!closed)
         return SD_NOTHING;
      Record(e.id,SD_ACK_CLOSED,e.ticket,SdAverage(exits),exits.volume,exits.last,"");
      return SD_FOUND;
     }

public:
   void              Init(CSdState *state) { m_state=state; }

   //--- what an interrupted (or unsure) open or close left at the broker: SD_FOUND (acked),
   //--- SD_NOTHING (an open that never reached the broker: placing it is safe) or
   //--- SD_UNKNOWN (no history yet: decide later). Modify and cancel simply run again
   int               Recover(const SdEntry &e)
     {
      if(e.type=="open")
         return RecoverOpen(e);
      if(e.type=="close")
         return RecoverClose(e);
      return SD_NOTHING;
     }

   //--- an unsure command the broker still shows nothing of: "failed" after
   //--- SD_UNSURE_SETTLE_S; true when that ack was recorded
   bool              Settle(const SdEntry &e)
     {
      if(e.unsure<=0 || (long)TimeGMT()-e.unsure<SD_UNSURE_SETTLE_S)
         return false;
      Record(e.id,SD_ACK_FAILED,e.ticket,0,0,(long)TimeGMT(),SD_UNSURE_WHY);
      Print("SignalDesk: ",e.id," failed: ",SD_UNSURE_WHY);
      return true;
     }

   //--- a placed order: filled (by its deals), cancelled / expired / rejected (by its
   //--- history state), or still unknown (the fill race: wait)
   void              FollowPlaced(const SdEntry &e,CSdTrader &trader)
     {
      if(OrderSelect((ulong)e.ticket))
        {
         if(e.expires>0 && (long)TimeGMT()>=e.expires
            && OrderGetInteger(ORDER_TYPE_TIME)==ORDER_TIME_GTC)
           {
            SdResult ignored;
            trader.Cancel(e.id+":expiry",e.ticket,ignored); // GTC fallback: expire locally
           }
         return;
        }
      SdFill f;
      if(!SdOrderFill(e.ticket,e.since,f))
         return; // no history yet
      if(f.count>0)
        {
         RecordFill(e.id,f);
         return;
        }
      if(SdSelectPosition(e.ticket) || SelectPositionByComment(e.comment))
        {
         RecordPosition(e.id); // hedging: the position shows before its deal
         return;
        }
      long state=SdHistoryState(e.ticket);
      string why="";
      if(state==ORDER_STATE_CANCELED)
         why=(e.expires>0 && (long)TimeGMT()>=e.expires)
             ? "the pending order expired (deleted by the EA at its expiry)"
             : "the pending order was cancelled at the broker";
      else if(state==ORDER_STATE_EXPIRED)
         why="the pending order expired at the broker";
      else if(state==ORDER_STATE_REJECTED)
         why="the broker rejected the pending order";
      if(why!="")
         Record(e.id,SD_ACK_CANCELLED,e.ticket,0,0,(long)TimeGMT(),why);
      // else: filled with its deal not in history yet, or not in history at all yet: wait
     }

   //--- a filled open: "closed" once its position is gone and its exits cover its entries
   void              FollowFilled(const SdEntry &e)
     {
      long position=e.ticket;
      SdFill f;
      if(SdOrderFill(e.ticket,e.since,f) && f.count>0)
         position=f.position; // acked with the order ticket when the deal was not there yet
      if(SdSelectPosition(position))
         return;
      SdFill exits;
      bool closed=false;
      if(!SdPositionExit(position,0,exits,closed) || !closed)
         return;
      double volume=e.volume>0 ? MathMin(exits.volume,e.volume) : exits.volume;
      Record(e.id,SD_ACK_CLOSED,position,SdAverage(exits),volume,exits.last,"");
     }

   //--- a close that took our whole share ends our open at once: on a netting account the
   //--- position stays open with other fills (ea/client_reconcile.py closed_share)
   void              ClosedShare(const long signal_id,const SdResult &r)
     {
      int i=m_state.OpenForSignal(signal_id);
      if(i<0 || r.volume<=0)
         return;
      SdEntry e;
      m_state.Get(i,e);
      if(e.status==SD_ACK_FILLED && e.ticket==r.ticket && e.volume>0
         && r.volume>=e.volume-1e-9)
         Record(e.id,SD_ACK_CLOSED,r.ticket,r.price,e.volume,r.time,"");
     }
  };
//+------------------------------------------------------------------+
